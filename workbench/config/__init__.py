"""``workbench.toml``: the models, the loader and the duration parser (names only).

Handed on lazily: ``parse_duration`` (the CLI's ``--timeout``) must not load pydantic.
"""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, {
    "parse_duration": ".durations",
    **dict.fromkeys(["CONFIG_NAME", "ENV_CONFIG", "default_config", "find_config", "load_config", "parse_config"],
                    ".loader"),
    **dict.fromkeys(["Config", "LakeDataset", "PipelineConfig", "PipelineTask", "ReportConfig", "Role", "Scheduled",
                     "Settings", "SourceConfig"], ".model"),
})

__all__ = ["CONFIG_NAME", "ENV_CONFIG", "Config", "LakeDataset", "PipelineConfig", "PipelineTask", "ReportConfig",
           "Role", "Scheduled", "Settings", "SourceConfig", "default_config", "find_config", "load_config",
           "parse_config", "parse_duration"]
