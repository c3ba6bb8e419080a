"""Excel workbooks: the results of a command written as a workbook (:mod:`.results`)."""
