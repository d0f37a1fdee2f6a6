"""hwtrial."""
