"""The offline engine: a local Gemini-compatible server answered by classical image code."""
