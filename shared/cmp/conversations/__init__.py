"""The agent runtime (DESIGN.md §3): sessions, language detection, prompt assembly from persona, branding and
retrieved knowledge, language models, transcripts and feedback."""
