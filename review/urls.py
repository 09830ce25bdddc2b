from django.urls import path

from review.views import audit, confusion, items, queue, stats

app_name = "review"
urlpatterns = [
    path("projects/<int:project_id>/review/", queue.review_queue, name="queue"),
    path("projects/<int:project_id>/review/flags/<int:flag_id>/", queue.flag_view, name="flag"),
    path("projects/<int:project_id>/review/flags/<int:flag_id>/resolve/", queue.flag_resolve, name="resolve"),
    path("projects/<int:project_id>/review/flags/<int:flag_id>/decide/", queue.flag_decide, name="decide"),
    path("projects/<int:project_id>/review/flags/<int:flag_id>/comment/", queue.flag_comment, name="comment"),
    path("projects/<int:project_id>/review/undo/", queue.review_undo, name="undo"),
    path("projects/<int:project_id>/review/find-mislabels/", queue.find_mislabels, name="find_mislabels"),
    path("projects/<int:project_id>/review/confusion/", confusion.confusion_page, name="confusion"),
    path("projects/<int:project_id>/review/confusion/<int:given_id>/<int:predicted_id>/", confusion.confusion_cell,
         name="confusion_cell"),
    path("projects/<int:project_id>/review/confusion/<int:given_id>/<int:predicted_id>/relabel/",
         confusion.confusion_relabel, name="confusion_relabel"),
    path("projects/<int:project_id>/review/audits/", audit.audit_list, name="audits"),
    path("projects/<int:project_id>/review/audits/new/", audit.audit_new, name="audit_new"),
    path("projects/<int:project_id>/review/audits/<int:audit_id>/", audit.audit_page, name="audit"),
    path("projects/<int:project_id>/review/audits/<int:audit_id>/verdict/", audit.audit_verdict, name="audit_verdict"),
    path("projects/<int:project_id>/review/stats/", stats.reviewer_stats_page, name="stats"),
    path("projects/<int:project_id>/quality/", stats.annotator_quality_page, name="quality"),
    path("items/<int:item_id>/", items.item_page, name="item"),
    path("items/<int:item_id>/comment/", items.item_comment, name="item_comment"),
    path("items/<int:item_id>/gold/", items.item_gold, name="item_gold"),
]

