class FormatError(ValueError):
    """The file is not a valid .pte: one line naming the file and the field at fault."""
