"""What if? The engine (:mod:`.engine`) and the web app (:mod:`.app`) of ``schemerisk explore``."""
