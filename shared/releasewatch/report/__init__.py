"""The breach report draft (Code of Practice for Statistics, orderly release): build.py fills
the form's fields from the store; render.py lays a report out as text, Markdown or Word;
drafts.py builds and renders in one call for the tick's email and the commands;
code_of_practice.py says which edition was in force and how the breach is named."""
