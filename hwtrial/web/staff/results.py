"""Staff pages: results (routes added to the staff blueprint)."""
