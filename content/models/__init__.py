"""Models of the content app, one module per topic."""

from .campaigns import CAMPAIGN_FLOW, Campaign, CampaignStatus  # noqa: F401
from .pipeline import (  # noqa: F401
    DEFAULT_PRIORITY,
    FINISHED,
    Batch,
    BatchStatus,
    Component,
    ComponentType,
    Context,
    ContextStatus,
    Pipeline,
    PipelineStats,
    PipelineStep,
    Processing,
    Template,
)
from .tickets import TICKET_FLOW, Ticket, TicketPriority, TicketStatus  # noqa: F401
