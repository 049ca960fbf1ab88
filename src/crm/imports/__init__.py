"""Bulk lead import from CSV or XLSX (§6.9): validated row by row, committed in batches."""
