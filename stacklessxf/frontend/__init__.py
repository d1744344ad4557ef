"""Frontend: find a function's source, parse it with astroid, check it."""
