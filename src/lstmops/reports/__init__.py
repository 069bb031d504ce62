"""Reports for people: what a run, an evaluation or the registry says, as markdown and text."""
