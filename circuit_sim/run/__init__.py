"""Running a design: inference on a fixed input, learning on a stream (segments,
snapshots, resume), Ctrl-C handling and progress."""
