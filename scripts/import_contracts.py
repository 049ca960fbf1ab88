"""Regenerate the import-linter contracts in pyproject.toml.

Usage: python3 scripts/import_contracts.py auth,orgs,...  (the domain packages, in order)
"""

import pathlib
import sys

root = pathlib.Path(__file__).resolve().parents[1]
domains = sys.argv[1].split(",")
text = (root / "pyproject.toml").read_text()
start = text.index("[tool.importlinter]")
out = [
    '[tool.importlinter]\nroot_package = "crm"\n',
    '[[tool.importlinter.contracts]]\nname = "Layers: composition roots -> domains -> models -> core"\ntype = "layers"\nlayers = [\n    "crm.app : crm.api : crm.cli : crm.demo : crm.worker",\n    "'
    + " : ".join(f"crm.{d}" for d in domains)
    + '",\n    "crm.models",\n    "crm.core",\n]\nexhaustive = false\n',
    '[[tool.importlinter.contracts]]\nname = "Inside a domain: routes -> permissions -> service -> repository"\ntype = "layers"\ncontainers = ['
    + ", ".join(f'"crm.{d}"' for d in domains)
    + ']\nlayers = ["(routes)", "(permissions)", "service", "(repository)"]\nexhaustive = false\n',
]
for d in domains:
    others = [f'"crm.{o}"' for o in domains if o != d]
    forbidden = [
        f'"crm.{d}.{m}"'
        for m in ("repository", "routes")
        if (root / "src/crm" / d / f"{m}.py").exists()
    ]
    if not forbidden or d == "records":  # records is a shared query kit for domain repositories
        continue
    out.append(
        f'[[tool.importlinter.contracts]]\nname = "Other domains reach {d} only through its service, schemas and permissions"\ntype = "forbidden"\nsource_modules = [{", ".join(others)}]\nforbidden_modules = [{", ".join(forbidden)}]\nallow_indirect_imports = true\n'
    )
(root / "pyproject.toml").write_text(text[:start] + "\n".join(out))
