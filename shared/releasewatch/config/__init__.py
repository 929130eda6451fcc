"""The config file: load.py reads the YAML authoring format into resolved releases, naming the
file, line and path of every mistake; yamlsource.py is the YAML loader that remembers where
each value came from; durations.py reads durations as people write them (`90s`, `1h30m`)."""
