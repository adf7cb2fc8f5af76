"""The audio pipeline: speakable text, TTS with a render cache, and call audio analysis."""
