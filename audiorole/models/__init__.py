"""Models of the training stages, as plain torch (no Lightning): the Lightning modules wrap these."""
