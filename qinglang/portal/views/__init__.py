"""Portal pages: the public site, the institution end, the parent end and the regulator
console. Split by end; ``urls.py`` names every route."""
