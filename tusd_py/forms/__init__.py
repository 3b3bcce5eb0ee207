"""Form uploads: each file of a multipart/form-data POST becomes one finished upload."""
