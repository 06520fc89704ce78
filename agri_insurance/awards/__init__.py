"""Awards (中标), backup underwriters, the public notice (公示) and objections (质疑), notices and OCDS."""
