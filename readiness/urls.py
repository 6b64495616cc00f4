from django.urls import path

from readiness import views

app_name = "readiness"
urlpatterns = [
    path("", views.ranking_view, name="ranking"),
    path("publish/", views.publish_view, name="publish"),
    path("public/", views.public_view, name="public"),
    path("public/<str:start>/<str:end>/", views.public_view, name="public-period"),
    path("public/<str:start>/<str:end>/report.csv", views.public_csv_view, name="public-csv"),
    path("public/<str:start>/<str:end>/report.pdf", views.public_pdf_view, name="public-pdf"),
    path("<str:code>/", views.scorecard_view, name="scorecard"),
]
