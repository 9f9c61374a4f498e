"""Reports as the application sees them: read a snapshot, compute, render."""
