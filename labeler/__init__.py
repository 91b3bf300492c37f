"""The labeler: grades catalog results A-G and publishes them as a site, badges and card blocks."""
