"""Reading the student's source text: what the worker and the checks both look for in it.

Part of the worker package, which is loaded by path in the sandbox: standard library only,
never ``grader.*``. The checks import it from here.
"""

from __future__ import annotations

import ast


def is_main_guard(node: ast.stmt) -> bool:
    """True for ``if __name__ == "__main__":`` (either side of ``==``), the block a script runs."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    operands = [test.left, test.comparators[0]]
    has_name = any(isinstance(op, ast.Name) and op.id == "__name__" for op in operands)
    has_main = any(isinstance(op, ast.Constant) and op.value == "__main__" for op in operands)
    return has_name and has_main
