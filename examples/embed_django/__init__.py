"""tusd_py inside a Django project: Django serves its pages, tusd_py the uploads under /uploads/files/."""
