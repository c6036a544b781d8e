export { createListingService, getListing, defaultRefPrefix, type ListingService } from './listings.service.ts';
export {
  createListingBody,
  updateListingBody,
  listingView,
  listingIdSchema,
  timezoneSchema,
  type CreateListingInput,
  type UpdateListingInput,
  type ListingView,
} from './listings.schemas.ts';
