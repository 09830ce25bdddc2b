"""The REST API for scripts and ML engineers: thin views over the apps' services and selectors."""
