"""What every sales domain shares: links (assignees, teams, tags), visibility, filters."""
