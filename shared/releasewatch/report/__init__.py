"""The breach report draft (Code of Practice for Statistics, orderly release): build.py fills
the form's fields from the store; code_of_practice.py says which edition was in force and how
the breach is named."""
