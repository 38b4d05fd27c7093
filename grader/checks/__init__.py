"""The graded checks, one module per criterion family: they judge observations only."""
