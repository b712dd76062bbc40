"""Problem kinds: one module (or package) each, registered with `solvers.problem.kind`.

Every module in this package is imported here, so a new kind is a new module: nothing else
to switch on."""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
