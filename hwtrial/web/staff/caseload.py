"""Staff pages: caseload (routes added to the staff blueprint)."""
