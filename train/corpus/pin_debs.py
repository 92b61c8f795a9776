"""Prints the pins of the Debian binary packages whose installed files are a corpus source: every
python3-* (its Python modules) and node-* (its JavaScript) package of the configured suites, at
the candidate version apt resolves today, one name=version a line after a comment header.

    python3 train/corpus/pin_debs.py > train/corpus/deb_binary_packages.txt
"""
import subprocess


def main():
    names = sorted(n for n in subprocess.run(["apt-cache", "pkgnames"], capture_output=True, text=True,
                                             check=True).stdout.split()
                   if n.startswith(("python3-", "node-")) and not n.endswith(("-dbg", "-doc")) and "dbgsym" not in n)
    out = subprocess.run(["apt-cache", "show", "--no-all-versions"] + names, capture_output=True, text=True,
                         check=True).stdout
    pins = set()
    for para in out.split("\n\n"):
        fields = {}
        for line in para.split("\n"):
            if ": " in line and not line.startswith(" "):
                k, v = line.split(": ", 1)
                fields.setdefault(k, v)
        if "Package" in fields and "Version" in fields:
            pins.add(f"{fields['Package']}={fields['Version']}")
    print("# Debian bookworm binary packages whose installed files are a corpus source (pinned name=version):")
    print("# the Python modules of every python3-* package and the JavaScript of every node-* package.")
    print("# Regenerate: python3 train/corpus/pin_debs.py > train/corpus/deb_binary_packages.txt")
    print("\n".join(sorted(pins)))


if __name__ == "__main__":
    main()
