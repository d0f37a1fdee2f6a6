"""Staff pages: audit (routes added to the staff blueprint)."""
