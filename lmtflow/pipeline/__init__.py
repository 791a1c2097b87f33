"""One module per workflow step; each reads and writes files and calls the array algorithms."""
