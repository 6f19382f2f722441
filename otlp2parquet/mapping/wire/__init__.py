"""Protobuf records read column by column on the wire, with numpy."""
