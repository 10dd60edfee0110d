"""speechbrain-ee: efficient end-to-end speech recognition on SpeechBrain."""
