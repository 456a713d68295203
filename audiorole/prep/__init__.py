"""The dataset pipeline: episodes -> character-grounded audio-text manifests."""
