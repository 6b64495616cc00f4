"""The provincial collector agent: a standalone program (no Django import).

It reads logs on a provincial server, normalises them to ECS at the edge and
ships them to the central ingest API. Only the standard library is required.
"""

__version__ = "0.1.0"
