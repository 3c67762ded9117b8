"""Layer 5, the config system: registries, builders, constructors, paramwise rules, explain, scheduler building.

May import: core, transforms, schedules, compile, transform_configs, wrapper (the facade), param_scheduler.
"""
