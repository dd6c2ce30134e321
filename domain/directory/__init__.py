"""The directory (网格化目录): street, community, area, compound, grid, providers."""

from domain.directory.model import Level, ProviderKind, TeamRole, Unit, unit_id
from domain.directory.service import Directory, Imported
from domain.directory.view import DirectoryView, UnitInfo

__all__ = ["Directory", "DirectoryView", "Imported", "Level", "ProviderKind", "TeamRole",
           "Unit", "UnitInfo", "unit_id"]
