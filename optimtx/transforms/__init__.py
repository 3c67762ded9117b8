"""Layer 1, the pure rules: gradient transforms and combinators, one module per concern.

May import: core (and other transform modules). Every public function of a module here annotated
``-> GradientTransformation`` is registered in ``TRANSFORMS`` by pkgutil discovery
(``optimtx/transform_configs.py``); private helpers start with ``_``. The public names are listed
in ``optimtx/transforms/exports.py``.
"""

__all__: list[str] = []  # the public names of this package live in its modules
