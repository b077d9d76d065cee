"""The Qt-free engine: generation settings, sampling, local (llama.cpp) and cloud (OpenAI) generators."""
