"""``workbench.toml``: the models, the loader and the duration parser (names only)."""

from .durations import parse_duration
from .loader import CONFIG_NAME, ENV_CONFIG, default_config, find_config, load_config, parse_config
from .model import Config, LakeDataset, ReportConfig, Role, Settings, SourceConfig

__all__ = ["CONFIG_NAME", "ENV_CONFIG", "Config", "LakeDataset", "ReportConfig", "Role", "Settings",
           "SourceConfig", "default_config", "find_config", "load_config", "parse_config", "parse_duration"]
