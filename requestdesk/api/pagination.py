from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """Page-number pagination with total counts; page_size is capped at 100."""

    page_size_query_param = "page_size"
    max_page_size = 100
