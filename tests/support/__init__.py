"""What the tests share: tiny checkpoints, stub servers, drivers and fixtures' helpers."""
