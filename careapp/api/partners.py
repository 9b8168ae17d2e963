"""Partner organisations, their service points and services, and the slots they publish."""
from __future__ import annotations

from careapp.accounts.models import User
from careapp.api.registry import api
from careapp.api.schemas import (CapacityIn, PartnerIn, PartnerOut, ServiceIn, ServiceOut, ServicePointIn,
                                 ServicePointOut, SlotIn, SlotOut)
from careapp.booking import engine
from careapp.booking.queries import slot_availability
from careapp.core.clock import now
from careapp.core.errors import NotFound
from careapp.core.i18n import gettext as _
from careapp.partners.queries import visible_partners
from careapp.partners.services import add_service_point, create_partner, create_service, create_slot


@api.route("GET", "/partners", summary="Partners with their service points and services", response=list[PartnerOut])
def partners(user: User) -> list[PartnerOut]:
    return [PartnerOut.of(partner) for partner in visible_partners(user)]


@api.route("POST", "/partners", summary="Add a partner (community staff, admins); approved at once", status=201,
           body=PartnerIn, response=PartnerOut, errors=(403, 409))
def add_partner(user: User, body: PartnerIn) -> PartnerOut:
    partner = create_partner(name=body.name, kind=body.kind, phone=body.phone, by=user, now=now())
    return PartnerOut.of(partner)


@api.route("POST", "/partners/{partner_id}/service-points", summary="Add a site where the partner serves",
           status=201, body=ServicePointIn, response=ServicePointOut, errors=(403,))
def add_point(user: User, partner_id: int, body: ServicePointIn) -> ServicePointOut:
    point = add_service_point(partner_id=partner_id, name=body.name, address=body.address, latitude=body.latitude,
                              longitude=body.longitude, by=user, now=now())
    return ServicePointOut(**point.as_dict())


@api.route("POST", "/partners/{partner_id}/services", summary="Publish a service (that partner's manager, admins)",
           status=201, body=ServiceIn, response=ServiceOut, errors=(403,))
def add_service(user: User, partner_id: int, body: ServiceIn) -> ServiceOut:
    service = create_service(partner_id=partner_id, kind=body.kind, name=body.name, capacity=body.capacity,
                             service_point_id=body.service_point_id, by=user, now=now(), **body.settings())
    return ServiceOut(**service.as_dict())


def _slot_out(slot_id: int) -> SlotOut:
    availability = slot_availability(slot_id)
    if availability is None:  # slots are never deleted; only a broken database gets here
        raise NotFound(_("No such slot."))
    return SlotOut.of(availability)


@api.route("POST", "/services/{service_id}/slots", summary="Open a dated slot of a service", status=201,
           body=SlotIn, response=SlotOut, errors=(403, 409, 422))
def add_slot(user: User, service_id: int, body: SlotIn) -> SlotOut:
    slot = create_slot(service_id=service_id, starts_at=body.starts_at, ends_at=body.ends_at,
                       capacity=body.capacity, by=user, now=now())
    return _slot_out(slot.id)


@api.route("PATCH", "/slots/{slot_id}", summary="Change a slot's capacity; new places go to the waitlist",
           body=CapacityIn, response=SlotOut, errors=(403, 422))
def change_capacity(user: User, slot_id: int, body: CapacityIn) -> SlotOut:
    engine.set_capacity(slot_id, body.capacity, by=user, now=now())
    return _slot_out(slot_id)


@api.route("POST", "/slots/{slot_id}/cancel", summary="Cancel a slot; every live booking in it ends",
           response=SlotOut, errors=(403, 409, 422))
def cancel_slot(user: User, slot_id: int) -> SlotOut:
    engine.cancel_slot(slot_id, by=user, now=now())
    return _slot_out(slot_id)
