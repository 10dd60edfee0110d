"""S3-Router (spec ``s3_router.md``): learned binary masks over the frozen
weights of a speech SSL model (`masks`)."""
