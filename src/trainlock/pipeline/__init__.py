"""The tabular recipe: data → features → preprocessing → CV → select → fit → calibrate → threshold."""
