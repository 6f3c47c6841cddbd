"""Where the interpreter's imports lead: project files resolved on disk (see `cnnlint.project`),
loaded on first use, so that a file the run did not name is read when something imports it."""

from __future__ import annotations

import os
from typing import Any, Callable

from cnnlint.extract.frames import FileScope
from cnnlint.project import Project

# Reads one file's facts (from the cache or by analysing it); None when it cannot be read.
Loader = Callable[[str], Any]


class ProjectModules:
    def __init__(self, project: Project, loader: Loader | None = None,
                 locator: Any = None) -> None:
        self.project = project
        self.loader = loader
        self.locator = locator
        self.by_path: dict[str, FileScope | None] = {}  # absolute path -> scope
        self.added: list[FileScope] = []  # scopes loaded on demand, for the interpreter

    @classmethod
    def of_files(cls, paths: list[str]) -> ProjectModules:
        """Modules for a run with no project around it: the given files only."""
        return cls(Project(root=None, files={os.path.abspath(p) for p in paths}))

    def module_name(self, path: str) -> str:
        return self.project.module_name(path)

    def register(self, scope: FileScope) -> None:
        self.by_path[os.path.abspath(scope.path)] = scope

    def scope_at(self, path: str) -> FileScope | None:
        """The scope of a project file (absolute path), read on first use."""
        if path in self.by_path:
            return self.by_path[path]
        scope = None
        facts = self.loader(path) if self.loader is not None else None
        if facts is not None and facts.body:
            scope = FileScope(facts.path, self.module_name(path), facts.body, facts.spans,
                              self.locator)
            self.added.append(scope)
        self.by_path[path] = scope
        return scope

    def resolve(self, scope: FileScope, dotted: str, level: int
                ) -> tuple[FileScope | None, str | None]:
        """(the module's scope, the package folder its submodules are in) for an import in
        `scope`; (None, None) for a module outside the project."""
        path, folder = self.project.resolve(os.path.abspath(scope.path), dotted, level)
        return (self.scope_at(path) if path is not None else None), folder

    def submodule(self, folder: str, name: str) -> tuple[FileScope | None, str | None]:
        """`name` inside the package `folder`: (its scope, its own folder when a package)."""
        path, is_package = self.project.module_at(folder, name)
        sub_folder = os.path.join(folder, name) if is_package else None
        return (self.scope_at(path) if path is not None else None), sub_folder
