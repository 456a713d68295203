"""The series folder format, manifests, samplers and collation."""
