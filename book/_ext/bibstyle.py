"""Author–year labels in the bibliography, so "Zhang et al. (2024)" in the text finds
"[Zhang et al., 2024]" on the bibliography page rather than an alpha label like "[ZZS+24]".

A Sphinx extension of the book's build only (Jupyter Book's ``local_extensions``); chapters
never import it.
"""
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle

from minitranscend.book.convert import author_label

NAME = "minitranscend_author_year"


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            persons = entry.persons.get("author", [])
            last = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in persons]
            who = author_label(last, bool(persons) and str(persons[-1]) == "others", entry.key)
            yield f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabelStyle
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", NAME, AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", NAME, AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
